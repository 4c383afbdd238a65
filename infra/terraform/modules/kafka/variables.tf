variable "name" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  description = "One private subnet per zone; broker_count must be a multiple of their number."
  type        = list(string)
}

variable "kafka_version" {
  type    = string
  default = "3.9.x"
}

variable "broker_count" {
  type = number
}

variable "broker_instance_type" {
  type = string
}

variable "broker_volume_gb" {
  type = number
}

variable "default_partitions" {
  description = "Partitions of a topic created without a count: the ceiling on consumers sharing it."
  type        = number
  default     = 6
}

variable "retention_hours" {
  description = "How far back a consumer group can be rewound (replays, DLQ reprocessing)."
  type        = number
  default     = 168
}

variable "client_broker_encryption" {
  description = "TLS_PLAINTEXT until the apps' Kafka client is configured for TLS, then TLS."
  type        = string
  default     = "TLS_PLAINTEXT"

  validation {
    condition     = contains(["TLS", "TLS_PLAINTEXT"], var.client_broker_encryption)
    error_message = "client_broker_encryption must be TLS or TLS_PLAINTEXT (PLAINTEXT alone is not allowed here)."
  }
}

variable "log_retention_days" {
  type    = number
  default = 30
}
