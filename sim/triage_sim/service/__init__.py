"""A misbehaving service (:mod:`.standin`) and the failures it plays (:mod:`.scenarios`)."""
