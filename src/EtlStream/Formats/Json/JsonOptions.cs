namespace EtlStream.Formats.Json;

/// <summary>
/// How JSON input is read (<c>json:</c> in a table spec). JSON Lines and a top-level array need none of it; a
/// document holding its records under a key (GeoJSON's <c>features</c>, an API dump's <c>data.items</c>) names it in
/// <see cref="Records"/>.
/// </summary>
public sealed record JsonOptions
{
    public static JsonOptions Default { get; } = new();

    /// <summary>The path of the array of records inside one document (<c>features</c>, <c>data.items</c>); null: JSON Lines or a top-level array.</summary>
    public string? Records { get; init; }

    /// <summary>A record longer than this fails (or is rejected, in JSON Lines): memory holds at most one record of this size.</summary>
    public int MaxRecordBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>Records read from the start of each file to find its keys (the inferred columns, keys no column reads).</summary>
    public int SampleRows { get; init; } = 10_000;

    /// <summary>The sample stops at this many bytes even before <see cref="SampleRows"/> records: it is held in memory.</summary>
    public int SampleBytes { get; init; } = 16 * 1024 * 1024;
}
