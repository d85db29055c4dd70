"""Bundle version 1's rendering, frozen as it was issued (DESIGN §9 v4).

A bundle is evidence for ten years: a version-1 bundle is verified by the version-1
derivation forever, byte for byte as it was issued. These modules are the code that derived
version 1's rendering — custody, the matter analysis, indicators 1–9 and the working-day
calendar (without make-up days) — copied when version 2 changed them. Never edit them to
follow a later rule: a change to what a bundle says is a new ``bundle_version``.
"""
