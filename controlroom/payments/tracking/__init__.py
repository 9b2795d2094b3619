"""Payment tracking: following the chain across several payment nodes."""
