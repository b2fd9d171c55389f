"""The consultation's Pelican plugins: each offers a generator (what it adds to the shared context and the pages it describes) and the typed stage functions `generator.build` calls."""
