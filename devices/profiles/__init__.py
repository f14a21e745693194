"""Device profiles: how onglass's key names map onto one family of devices."""
