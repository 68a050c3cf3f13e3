"""What a deploy would do, offline: the stack program, the mock-monitor plan, the CrossGuard adapter."""
