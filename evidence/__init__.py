"""Evidence bundles: export, offline verification and a rendering for people (DESIGN §9)."""
