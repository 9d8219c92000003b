namespace EtlStream.Tables.Inference;

/// <summary>
/// What the sample says about one source field: its type (and <c>format</c> for a date or timestamp), whether NULLs
/// were seen, and a note for the spec's reader when a type was held back (two date patterns fit, codes with leading zeros).
/// </summary>
/// <param name="Header">The field's name as the reader gives it (the CSV header, a JSON path).</param>
/// <param name="BlankIsNull">A typed column saw empty non-NULL values (<c>""</c> in CSV): they are read as NULL (<c>null: [""]</c>).</param>
/// <param name="TrimBlanks">Some of those blanks were spaces: the column trims, so they compare equal to <c>""</c>.</param>
/// <param name="Values">Non-NULL, non-blank values sampled.</param>
/// <param name="Nulls">NULL or blank values sampled.</param>
public sealed record InferredColumn(
    string Header,
    ColumnType Type,
    string? Format,
    bool Nullable,
    bool BlankIsNull,
    bool TrimBlanks,
    string? Note,
    long Values,
    long Nulls);
