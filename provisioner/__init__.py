"""provisioner: declarative, Terraform-style provisioning of AEP Flow Service S3 source connections."""

__version__ = "0.1.0"
