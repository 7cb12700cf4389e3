"""Category builders: one module per category (prompts from its recipe, its curation policy),
registered with dataigm.core.registry.BUILDERS."""
