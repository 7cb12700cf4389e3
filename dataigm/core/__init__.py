"""The core: taxonomy, schema, ids, storage, layout, folders (owner markers and locks), manifest,
plan, settings, curation model, precision, inputs (strict CSV/JSON), text (data made safe for
lines, CSV cells and file names) and the registries. It imports nothing above it; builders and detectors plug in
through the registries."""
