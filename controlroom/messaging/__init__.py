"""Messages to drivers and customers: the SMS alphabet and its costs."""
