"""Interoperability: NENA EIDO export and STA-024 subscriptions for partner CADs, CAP 1.2
alerts out to the public, CAP 1.2 hazard warnings in (BMKG)."""
