using System.Text.Json;
using System.Text.Json.Serialization;

namespace EtlStream.Pipeline;

/// <summary>The machine-readable report of one load (<c>--report</c>): the figures of <see cref="LoadResult"/> in stable JSON names.</summary>
public sealed record RunReport
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public required string Status { get; init; }

    public string? Error { get; init; }

    public required string Input { get; init; }

    public required string Target { get; init; }

    public string? Table { get; init; }

    public int Files { get; init; }

    public long RowsRead { get; init; }

    public long RowsLoaded { get; init; }

    public long RowsFiltered { get; init; }

    public long RowsRejected { get; init; }

    /// <summary>Rejected rows per rule.</summary>
    public IReadOnlyDictionary<string, long>? RejectsByRule { get; init; }

    /// <summary>The Parquet file holding the rejected rows.</summary>
    public string? RejectsPath { get; init; }

    public long BytesRead { get; init; }

    public double ElapsedSeconds { get; init; }

    public double MegabytesPerSecond { get; init; }

    public long PeakWorkingSetBytes { get; init; }

    /// <summary>The stage with the most busy time: where to look first when a run is slow.</summary>
    public string? Bottleneck { get; init; }

    /// <summary>Busy seconds per stage, summed over the stage's workers.</summary>
    public IReadOnlyDictionary<string, double> Stages { get; init; } = new Dictionary<string, double>();

    /// <summary>Per source file.</summary>
    public IReadOnlyList<SourceReport>? Sources { get; init; }

    /// <summary>The published JSON schema of this report (<c>src/EtlStream/Pipeline/RunReport.schema.json</c>).</summary>
    public static string Schema()
    {
        using var stream = typeof(RunReport).Assembly.GetManifestResourceStream("RunReport.schema.json")!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public static RunReport From(LoadResult r, string input, string target, string? table) => new()
    {
        Status = "succeeded",
        Input = input,
        Target = target,
        Table = table,
        Files = r.Files,
        RowsRead = r.RowsRead,
        RowsLoaded = r.RowsLoaded,
        RowsFiltered = r.RowsFiltered,
        RowsRejected = r.RowsRejected,
        RejectsByRule = r.RejectsByRule.Count > 0 ? r.RejectsByRule : null,
        RejectsPath = r.RejectsPath,
        BytesRead = r.BytesRead,
        ElapsedSeconds = Math.Round(r.Elapsed.TotalSeconds, 3),
        MegabytesPerSecond = r.Elapsed.TotalSeconds > 0 ? Math.Round(r.BytesRead / 1e6 / r.Elapsed.TotalSeconds, 1) : 0,
        PeakWorkingSetBytes = r.PeakWorkingSetBytes,
        Bottleneck = r.Bottleneck.Length > 0 ? r.Bottleneck : null,
        Stages = r.Stages.ToDictionary(s => s.Name, s => Math.Round(s.Busy.TotalSeconds, 3)),
        Sources = [.. r.FileResults.Select(f => new SourceReport(f.Name, f.RowsRead, f.BytesRead, f.CompressedBytes, Math.Round(f.Elapsed.TotalSeconds, 3), f.Version, f.LastModified))],
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static RunReport FromJson(string json) => JsonSerializer.Deserialize<RunReport>(json, Json) ?? throw new JsonException("empty report");
}

/// <summary>One source file's figures in a run report, with the version (ETag) and last-modified time it was read at.</summary>
public sealed record SourceReport(string Name, long RowsRead, long BytesRead, long CompressedBytes, double ElapsedSeconds, string? Version = null, DateTimeOffset? LastModified = null);
