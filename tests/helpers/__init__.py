"""What the tests share: import it from here, never from a conftest or another test."""
