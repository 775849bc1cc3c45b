"""The scenarios, one module each: start servers, load them, judge the targets."""
