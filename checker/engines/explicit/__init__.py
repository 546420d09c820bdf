"""The explicit-state engine: breadth-first search, generated successor functions,
partial-order reduction and wait-for graphs."""
