variable "name" {
  description = "Prefix of every resource name, e.g. shepherd-prod."
  type        = string
}

variable "cidr_block" {
  description = "The VPC's address range; a /16 leaves room for 8 public and 8 private /20 subnets."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && tonumber(split("/", var.cidr_block)[1]) <= 16
    error_message = "cidr_block must be an IPv4 CIDR of /16 or larger."
  }
}

variable "az_count" {
  description = "Availability zones to spread subnets over (MSK needs 2 or 3)."
  type        = number
  default     = 3

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 3
    error_message = "az_count must be 2 or 3: RDS Multi-AZ and MSK both need at least two zones."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper, dev) instead of one per zone (prod)."
  type        = bool
  default     = false
}

variable "flow_logs_retention_days" {
  description = "Days to keep rejected-traffic flow logs; 0 turns flow logs off."
  type        = number
  default     = 30
}
