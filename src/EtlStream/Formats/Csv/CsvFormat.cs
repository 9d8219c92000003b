using EtlStream.Tables;

namespace EtlStream.Formats.Csv;

/// <summary>Delimited text (RFC 4180 and its dialects): the default format, with no signature of its own.</summary>
internal sealed class CsvFormat : InputFormat
{
    public static CsvFormat Instance { get; } = new();

    private CsvFormat()
    {
    }

    public override string Kind => "csv";

    public override bool Recognizes(ReadOnlySpan<byte> head) => false;

    public override IRecordReader Open(Stream input, string source, TableSpec spec) => new CsvArrowParser(input, source, spec.Csv);
}
