"""HTTP plumbing shared by the IMS token provider and the Flow Service client."""
