"""The pipeline study: throughput targets, DNI verdicts, split backward, hardware limit, timelines."""
