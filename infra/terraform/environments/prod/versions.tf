terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
    temporalcloud = {
      source  = "temporalio/temporalcloud"
      version = "~> 0.9"
    }
  }

  # State in S3 with locking; bucket, key, region and lock table come from a backend file:
  # tofu init -backend-config=backend.hcl (infra/terraform/README.md).
  backend "s3" {}
}

provider "aws" {
  region = var.region
  default_tags {
    tags = {
      project     = "shepherd"
      environment = "prod"
      managed_by  = "terraform"
    }
  }
}

# Reads TEMPORAL_CLOUD_API_KEY from the environment; only used when temporal_mode = "cloud".
provider "temporalcloud" {}
