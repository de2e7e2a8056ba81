"""Load test: a large generated dataset (``bench.generate``) and an HTTP load runner (``bench.run``)."""
