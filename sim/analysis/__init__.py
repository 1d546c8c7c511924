"""What runs say: comparisons, statistics, sensitivity, discovery, backtests, explanations."""
