variable "name" {
  type = string
}

variable "bucket_name" {
  description = "Globally unique; the value of S3_BUCKET."
  type        = string
}

variable "noncurrent_version_days" {
  description = "How long an overwritten or deleted object can still be restored."
  type        = number
  default     = 90
}

variable "force_destroy" {
  description = "Let a destroy delete a non-empty bucket (dev only)."
  type        = bool
  default     = false
}
