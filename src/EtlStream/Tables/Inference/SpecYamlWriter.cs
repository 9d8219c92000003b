using System.Globalization;
using EtlStream.Formats.Csv;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace EtlStream.Tables.Inference;

/// <summary>
/// Writes an inferred spec as the YAML <see cref="TableSpecReader"/> reads: a comment saying it was inferred, from
/// which file and how many rows; <c>table</c>; <c>csv:</c> with only what differs from the defaults; the columns,
/// each with only the keys that differ from a column's defaults, and a comment where a type was held back.
/// YamlDotNet's emitter quotes what needs quoting (a header like <c>Cost: total</c> or <c>|</c>).
/// </summary>
public static partial class SpecYamlWriter
{
    public static string Write(InferredSpec inferred)
    {
        var spec = inferred.Spec;
        using var text = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        var e = new Emitter(text, new EmitterSettings().WithIndentedSequences());
        e.Emit(new StreamStart());
        e.Emit(new DocumentStart());
        // A file name may hold a line break, which would end the comment and put the rest of the name into the YAML.
        var entry = PrintableText.Escape(inferred.Entry == inferred.File ? inferred.File : $"{inferred.File} (entry {inferred.Entry})");
        e.Emit(new Comment($"Inferred by etlstream infer from {entry}: {inferred.RowsSampled.ToString("N0", CultureInfo.InvariantCulture)} {(inferred.RowsSampled == 1 ? "row" : "rows")} sampled.", false));
        e.Emit(new Comment("Types fit every sampled value; check them, and nullable, against what later files may hold.", false));
        foreach (var note in inferred.Notes)
        {
            e.Emit(new Comment(note, false));
        }

        e.Emit(new MappingStart());
        Text(e, "table", spec.Name);
        if (inferred.Format == "csv")
        {
            WriteCsv(e, spec.Csv);
        }

        Key(e, "columns");
        e.Emit(new SequenceStart(null, null, false, SequenceStyle.Block));
        for (var i = 0; i < spec.Columns.Count; i++)
        {
            WriteColumn(e, spec.Columns[i], inferred.Columns[i]);
        }

        e.Emit(new SequenceEnd());
        e.Emit(new MappingEnd());
        e.Emit(new DocumentEnd(true));
        e.Emit(new StreamEnd());
        return text.ToString();
    }

    private static void WriteCsv(IEmitter e, CsvOptions csv)
    {
        var defaults = CsvOptions.Default;
        if (csv.Delimiter == defaults.Delimiter && csv.Quote == defaults.Quote && csv.HasHeader == defaults.HasHeader)
        {
            return;
        }

        Key(e, "csv");
        e.Emit(new MappingStart());
        if (csv.Delimiter != defaults.Delimiter)
        {
            Pair(e, "delimiter", csv.Delimiter == (byte)'\t' ? "tab" : ((char)csv.Delimiter).ToString());
        }

        if (csv.Quote != defaults.Quote)
        {
            Pair(e, "quote", ((char)csv.Quote).ToString());
        }

        if (csv.HasHeader != defaults.HasHeader)
        {
            Pair(e, "header", csv.HasHeader ? "true" : "false");
        }

        e.Emit(new MappingEnd());
    }

    private static void WriteColumn(IEmitter e, ColumnSpec c, InferredColumn sampled)
    {
        e.Emit(new MappingStart());
        Text(e, "name", c.Name);
        Pair(e, "type", c.Type.ToString());
        if (sampled.Note is { } note)
        {
            // Beside the type it explains: a comment on its own line would start at column 0, outside the list.
            e.Emit(new Comment(note, true));
        }

        if (c.Source is not null)
        {
            Text(e, "source", c.Source);
        }

        if (c.Format is not null)
        {
            Pair(e, "format", c.Format);
        }

        if (!c.Nullable)
        {
            Pair(e, "nullable", "false");
        }

        if (c.Trim)
        {
            Pair(e, "trim", "true");
        }

        if (c.NullTokens.Count > 0)
        {
            Key(e, "null");
            e.Emit(new SequenceStart(null, null, false, SequenceStyle.Flow));
            foreach (var token in c.NullTokens)
            {
                e.Emit(new Scalar(null, null, token, ScalarStyle.DoubleQuoted, false, true));
            }

            e.Emit(new SequenceEnd());
        }

        e.Emit(new MappingEnd());
    }

    private static void Key(IEmitter e, string key) => e.Emit(new Scalar(key));

    /// <summary>
    /// A name or header: quoted when YAML would otherwise read it as something else (<c>~</c>, <c>null</c>, <c>yes</c>,
    /// <c>2024</c>). Our reader takes it as text either way; other tools that edit the spec would not.
    /// </summary>
    private static void Text(IEmitter e, string key, string value)
    {
        Key(e, key);
        e.Emit(YamlOtherwise().IsMatch(value)
            ? new Scalar(null, null, value, ScalarStyle.SingleQuoted, false, true)
            : new Scalar(value));
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^(~|null|true|false|yes|no|on|off|y|n|[-+]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?|[-+]?\.(inf|nan)|0x[0-9a-f]+|0o[0-7]+)$", System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex YamlOtherwise();

    private static void Pair(IEmitter e, string key, string value)
    {
        Key(e, key);
        e.Emit(new Scalar(value));
    }
}
