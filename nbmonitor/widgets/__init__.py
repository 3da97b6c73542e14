"""Widgets that render a run. They read the run's buffer; nothing writes to them
but the refresher thread."""
