variable "name" {
  type = string
}

variable "database" {
  description = "Where DATABASE_URL points."
  type = object({
    address  = string
    port     = number
    name     = string
    username = string
    password = string
  })
  sensitive = true
}

variable "database_ssl_mode" {
  description = "sslmode of DATABASE_URL; RDS here refuses connections without TLS (rds.force_ssl)."
  type        = string
  default     = "verify-full"

  validation {
    condition     = contains(["verify-full", "no-verify"], var.database_ssl_mode)
    error_message = "database_ssl_mode must be verify-full or no-verify (TLS without checking the certificate)."
  }
}

variable "payload_key_id" {
  description = "Id of the first payload key, stored beside each ciphertext."
  type        = string
  default     = "k1"
}

variable "store_temporal_api_key" {
  description = "Whether temporal_api_key is given (Temporal Cloud); a plain flag because count can't read a secret."
  type        = bool
  default     = false
}

variable "temporal_api_key" {
  type      = string
  default   = ""
  sensitive = true
}

variable "recovery_window_days" {
  description = "Days a deleted secret can be restored; 0 deletes at once (dev)."
  type        = number
  default     = 30
}
