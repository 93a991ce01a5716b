"""Constants and helpers shared by the unit tests: one module per vendor, plus ``common`` for all of them."""
