"""Credential material for users of the emulated accounts: a self-signed certificate (moto parses signing
certificates) and an SSH public key. Neither has a private half anywhere."""

CERTIFICATE = """-----BEGIN CERTIFICATE-----
MIIBpzCCARACCQCY5yOdxCTrGjANBgkqhkiG9w0BAQsFADAXMRUwEwYDVQQKDAxt
b3RvIHRlc3RpbmcwIBcNMTgxMTA1MTkwNTIwWhgPMjI5MjA4MTkxOTA1MjBaMBcx
FTATBgNVBAoMDG1vdG8gdGVzdGluZzCBnzANBgkqhkiG9w0BAQEFAAOBjQAwgYkC
gYEA1Jn3g2h7LD3FLqdpcYNbFXCS4V4eDpuTCje9vKFcC3pi/01147X3zdfPy8Mt
ZhKxcREOwm4NXykh23P9KW7fBovpNwnbYsbPqj8Hf1ZaClrgku1arTVhEnKjx8zO
vaR/bVLCss4uE0E0VM1tJn/QGQsfthFsjuHtwx8uIWz35tUCAwEAATANBgkqhkiG
9w0BAQsFAAOBgQBWdOQ7bDc2nWkUhFjZoNIZrqjyNdjlMUndpwREVD7FQ/DuxJMj
FyDHrtlrS80dPUQWNYHw++oACDpWO01LGLPPrGmuO/7cOdojPEd852q5gd+7W9xt
8vUH+pBa6IBLbvBp+szli51V3TLSWcoyy4ceJNQU2vCkTLoFdS0RLd/7tQ==
-----END CERTIFICATE-----"""
SSH_PUBLIC_KEY = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDH9x2xxWLmB6LTnmlNRw7FshXU0DzcDN1eFhbS8+fxiRmx9SO/QoSf2hIldtcYD3"
    "m/pZuhlKDtEjWWO4DbRr9JDqpN5Dkb9mfkdWBNq8bgH4XjTodRRI5wgOhrkjkT8/0jBHqKeI53A6vvVIsuvQhCfQM5MJAKJV6w"
    "pd3AnJIJ9Yd2dbBbpW2w1rG1lRNjCc7pvtDX5DTsLQS2vc0eS7Es9AUZqQl4m/7glQbpwcL/nBZVgxFi4wLuYTR+yE1nQUmG60"
    "nOsSwjd/uqQEgAzJvKNHYLTNPz9SlGzcGFM+tCh7DdAsuN3ySdkBLcNLqBi3WDRfdSqqLnuz8ZkBwqqnU8ie3 user@example"
)
