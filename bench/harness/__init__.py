"""The harness: servers, load clients, rounds, reports and readings of the machine."""
