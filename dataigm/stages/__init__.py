"""The build's stages, each over one shard: prepare -> generate -> curate -> pack (plus release
writing, imported prompt sets and build status)."""
