"""Device control: key names, transports, device profiles and the virtual device."""
