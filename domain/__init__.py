"""The pot and its rules: values, events, the Pot aggregate. No I/O, no clock."""
