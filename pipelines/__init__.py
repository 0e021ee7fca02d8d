"""Pipeline definition and compilation."""
