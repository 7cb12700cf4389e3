"""The core: taxonomy, schema, ids, storage, layout, manifest, plan, settings, curation model,
precision and the registries. It imports nothing above it; builders and detectors plug in
through the registries."""
