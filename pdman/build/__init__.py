"""The builder: Containerfile parsing, expansion, ignore rules, context reading (issue #15)."""
