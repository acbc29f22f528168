"""Pure frame-in, frame-out transforms shared by the layers' assets."""
