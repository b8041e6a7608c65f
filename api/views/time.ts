// Timestamps as every answer writes them: ISO 8601 in UTC, null where there is none.
export const iso = (d: Date | null) => (d ? d.toISOString() : null);
