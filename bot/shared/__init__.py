"""What both front ends use: settings, the feedback vote store, citations."""
