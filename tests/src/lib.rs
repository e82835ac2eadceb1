//! End-to-end and tampering tests of Sigil live in `tests/tests/`.
