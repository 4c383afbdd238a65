variable "name" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  description = "Private subnets in at least two zones."
  type        = list(string)
}

variable "engine_major_version" {
  description = "Matches the local stack's PostgreSQL 15; a major upgrade is a planned operation (docs/operations.md)."
  type        = string
  default     = "15"
}

variable "engine_version" {
  type    = string
  default = "15"
}

variable "instance_class" {
  type = string
}

variable "allocated_storage_gb" {
  type    = number
  default = 50
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling; the offline store grows with every ingested event."
  type        = number
  default     = 500
}

variable "multi_az" {
  type = bool
}

variable "backup_retention_days" {
  description = "Automated backups and point-in-time recovery window (1-35 days)."
  type        = number

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be 1-35: 0 would turn point-in-time recovery off."
  }
}

variable "deletion_protection" {
  type = bool
}

variable "database_name" {
  type    = string
  default = "shepherd"
}

variable "master_username" {
  type    = string
  default = "shepherd"
}
