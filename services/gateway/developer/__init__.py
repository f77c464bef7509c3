"""Settings > Developer > OAuth Apps: forms, pages, confirmations, logos and stats charts."""
