"""Read models: balance and shares, members, proposals, history. Folds over events, kept in SQL tables."""
