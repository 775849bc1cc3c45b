"""The contract, `auth.yaml`, shipped inside the distribution as `authapi.openapi`."""
