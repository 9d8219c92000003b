using EtlStream.Formats.Csv;

namespace EtlStream.Sinks.Csv;

/// <summary><c>csv:&lt;path&gt;[?separator=tab]</c>: a file in the Stream Load body encoding; a <c>--to</c> target only.</summary>
internal sealed class CsvSinkProvider : SinkProvider
{
    public override string Kind => "csv";

    public override IReadOnlyList<string> Schemes => ["csv"];

    public override string TargetForm => "csv:<file>[?separator=tab]";

    public override IReadOnlyList<string> FileExtensions => [".csv", ".tsv"];

    public override SinkCapabilities Capabilities { get; } = new() { Tenants = false };

    /// <summary>Comma separated with a header row, NULL as <c>\N</c> (unambiguous, as in Stream Load bodies); <c>?separator=tab</c> for TSV.</summary>
    public override IBatchSink CreateFromTarget(string target, string defaultTable)
    {
        ArgumentNullException.ThrowIfNull(target);
        var rest = target[(target.IndexOf(':', StringComparison.Ordinal) + 1)..];
        var question = rest.IndexOf('?', StringComparison.Ordinal);
        var file = question >= 0 ? rest[..question] : rest;
        if (file.Length == 0)
        {
            throw SinkTarget.Invalid(target, "the CSV path is empty");
        }

        var options = new CsvWriteOptions { Separator = (byte)',', Header = true };
        if (question >= 0)
        {
            options = rest[(question + 1)..] switch
            {
                "separator=tab" => options with { Separator = (byte)'\t' },
                "separator=," => options,
                var other => throw SinkTarget.Invalid(target, $"unknown option '{other}' (expected separator=tab or separator=,)"),
            };
        }

        return new CsvFileSink(file, options);
    }
}
