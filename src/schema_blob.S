/* The RELAX NG schema, embedded as a NUL-terminated string. */
	.section .rodata
	.global fmgate_schema_rng
	.type fmgate_schema_rng, @object
fmgate_schema_rng:
	.incbin SCHEMA_PATH
	.byte 0
	.size fmgate_schema_rng, . - fmgate_schema_rng
	.section .note.GNU-stack,"",@progbits
