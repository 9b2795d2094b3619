"""The demo world: a Li & Lim day laid over Oslo, seeded and played live."""
