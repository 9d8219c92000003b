using System.Text.Json;
using EtlStream.Memory;
using EtlStream.Tables;

namespace EtlStream.Formats.Json;

/// <summary>
/// Reads JSON records (JSON Lines, a top-level array, or the array under <see cref="JsonOptions.Records"/> inside
/// one document) as <see cref="TextBatch"/>es: one column per path the spec reads, each value as its text (a string
/// unescaped, a number exactly as written, <c>true</c>/<c>false</c>, an object or array as its JSON text, null as
/// NULL), so every cast, rule, reject and sink of the CSV path applies unchanged. The input is streamed through one
/// pooled buffer (a record at most <see cref="JsonOptions.MaxRecordBytes"/>, plus the sample); each record is walked
/// once by <see cref="Utf8JsonReader"/>, with no allocation per record.
/// </summary>
internal sealed partial class JsonRecordReader : IRecordReader
{
    private readonly string _source;
    private readonly JsonOptions _options;
    private readonly TableSpec _spec;
    private readonly JsonFieldNode _root = JsonFieldNode.Root();
    private readonly List<string> _header = [];
    private readonly List<JsonFieldNode> _extras = [];
    private readonly List<string> _warnings = [];
    private readonly List<string> _entryWarnings = [];
    private readonly int _wanted;

    private bool _started;
    private int _sampled;
    private long _sampleBytes;

    /// <summary>The entry holds at least one record (an empty file or array loads nothing).</summary>
    private bool _any;

    private JsonColumnBuilder[] _columns = [];
    private long[] _lines = [];
    private List<BrokenRecord>? _broken;
    private int _rows;
    private int _rowCap = 1;
    private long _batchBytes;
    private long _batchStart;

    public JsonRecordReader(Stream stream, string source, TableSpec spec)
    {
        _stream = stream;
        _source = source;
        _spec = spec;
        _options = spec.Json;
        _buffer = BufferPool.Rent(InitialBufferBytes);
        _growLimit = _options.MaxRecordBytes + _options.SampleBytes;
        _wanted = AddSpecPaths();
    }

    /// <summary>Uncompressed bytes of the entry read into records so far.</summary>
    public long BytesConsumed => _bufferOffset + _pos;

    public IReadOnlyList<string> HeaderWarnings => _warnings;

    /// <summary>Keys first seen after the sample (schema_drift: ignore_new, evolve): logged once the entry ends.</summary>
    public IReadOnlyList<string> EntryWarnings => _entryWarnings;

    /// <summary>
    /// The fields of each record, in batch column order: every path the spec reads (its columns' <c>source:</c>, else
    /// their names), then the flattened names (<c>dealer__code</c>) of keys the sample holds that none of them reads
    /// (without columns: every key of the sample). Empty when the entry holds no record.
    /// </summary>
    public async ValueTask<IReadOnlyList<string>> ReadHeaderAsync(CancellationToken cancellationToken)
    {
        await StartAsync(cancellationToken).ConfigureAwait(false);
        return _any ? _header : [];
    }

    public async ValueTask<TextBatch?> ReadBatchAsync(CancellationToken cancellationToken)
    {
        await StartAsync(cancellationToken).ConfigureAwait(false);
        if (!_any)
        {
            return null;
        }

        while (_rows < _rowCap && !_finished)
        {
            var frame = Frame(out var start, out var length);
            if (frame == FrameStatus.NeedMore)
            {
                await MoreAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (frame == FrameStatus.End)
            {
                await FinishDocumentAsync(cancellationToken).ConfigureAwait(false);
                _finished = true;
                break;
            }

            if (frame == FrameStatus.TooLong)
            {
                await RejectTooLongAsync(start, cancellationToken).ConfigureAwait(false);
                continue;
            }

            // A record that would take the batch past batch_bytes starts the next one (unless the batch is empty).
            if (_rows > 0 && _batchBytes + length + ((_rows + 2) * FixedRowBytes) > _spec.Csv.BatchBytes)
            {
                break;
            }

            Accept();
            AddRecord(_buffer.AsSpan(start, length), _frameLine);
        }

        return _rows == 0 ? null : TakeBatch();
    }

    public void Dispose()
    {
        foreach (var c in _columns)
        {
            c.Release();
        }

        _columns = [];
        if (_lines.Length > 0)
        {
            BufferPool.Longs.Return(_lines);
            _lines = [];
        }

        if (_buffer.Length > 0)
        {
            BufferPool.Return(_buffer);
            _buffer = [];
        }

        if (_scratch.Length > 0)
        {
            BufferPool.Return(_scratch);
            _scratch = [];
        }
    }

    /// <summary>Arrow bytes a row costs besides its values: its line, and per column an offset and a validity bit.</summary>
    private long FixedRowBytes => sizeof(long) + (_header.Count * (sizeof(int) + 1L));

    /// <summary>Adds the spec's source paths to the tree, one column per distinct path; returns how many.</summary>
    private int AddSpecPaths()
    {
        var errors = new List<string>();
        var prefix = _spec.File is null ? "" : $"{_spec.File}: ";
        for (var i = 0; i < _spec.Columns.Count; i++)
        {
            var column = _spec.Columns[i];
            if (column.Computed is not null || _header.Contains(column.SourceName))
            {
                continue;
            }

            if (!JsonPath.TryParse(column.SourceName, out var steps, out var error))
            {
                if (column.Source is not null)
                {
                    errors.Add($"{prefix}columns[{i}].source: invalid JSON path '{column.Source}': {error}");
                    continue;
                }

                steps = [new JsonPathStep(column.Name, 0)]; // a column name that is no path is one key
            }

            var slot = _header.Count;
            _header.Add(column.SourceName);
            var node = _root.Add(steps);
            node.Slot = slot;

            // A flattened name (dealer__code, as inferred without a spec) also reads the nested key it names; the
            // key written exactly so wins where a record has both.
            if (steps is [{ Key: { } key }] && key.Contains(JsonPath.FlattenSeparator, StringComparison.Ordinal))
            {
                var parts = key.Split(JsonPath.FlattenSeparator);
                if (Array.TrueForAll(parts, p => p.Length > 0))
                {
                    var alias = _root;
                    foreach (var part in parts)
                    {
                        alias = alias.AddKey(part);
                    }

                    alias.AliasSlot = slot;
                }
            }
        }

        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        return _header.Count;
    }

    private async ValueTask StartAsync(CancellationToken cancellationToken)
    {
        if (_started)
        {
            return;
        }

        _started = true;
        if (!await DetectAsync(cancellationToken).ConfigureAwait(false))
        {
            return; // no record at all
        }

        await SampleAsync(cancellationToken).ConfigureAwait(false);
        if (!_any)
        {
            return;
        }

        if (_extras.Count > 0 && !_spec.InferColumns && _spec.SchemaDrift == SchemaDrift.Strict)
        {
            throw new JsonFormatException(_source, _extras[0].FirstLine, $"key '{_extras[0].DisplayPath}' is not read by any column (schema_drift: strict)");
        }

        // Rows per batch from the sample's record size (the values are at most the record).
        var sampled = Math.Max(1, _sampled);
        var perRow = Math.Max(1, _sampleBytes / sampled) + FixedRowBytes;
        var rows = Math.Max(1, _spec.Csv.BatchBytes / perRow);
        _rowCap = rows >= _spec.Csv.BatchRows ? _spec.Csv.BatchRows : (int)Math.Max(1, System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)rows + 1) / 2);
        _columns = new JsonColumnBuilder[_header.Count];
        var valueBytes = (int)Math.Min(64 * 1024, Math.Max(256, _sampleBytes / sampled / Math.Max(1, _header.Count) * _rowCap));
        for (var c = 0; c < _columns.Length; c++)
        {
            _columns[c] = new JsonColumnBuilder(_rowCap, valueBytes);
        }

        _lines = BufferPool.Longs.Rent(_rowCap);
        _slots = new SlotValue[_header.Count];
        _batchStart = BytesConsumed;
    }

    /// <summary>Reads the first records without consuming them, adding every key no column reads; then rewinds to the first.</summary>
    private async ValueTask SampleAsync(CancellationToken cancellationToken)
    {
        BeginSample();
        _discovering = true;
        _slots = new SlotValue[Math.Max(16, _header.Count)];
        while (_sampled < _options.SampleRows && _sampleBytes < _options.SampleBytes)
        {
            var frame = Frame(out var start, out var length);
            if (frame == FrameStatus.NeedMore)
            {
                await MoreAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            _any |= frame is FrameStatus.Record or FrameStatus.TooLong;
            if (frame != FrameStatus.Record)
            {
                if (frame == FrameStatus.TooLong && _sampled == 0 && _spec.OnError == OnError.FailFile)
                {
                    throw TooLong(_frameLine);
                }

                break; // the end, or a record too long: the batches read it again and say so
            }

            Accept();
            _recordLine = _frameLine;
            try
            {
                Walk(_buffer.AsSpan(start, length));
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or RecordShapeException)
            {
                // A bad record is reported (or rejected) where the batches read it.
            }

            _sampled++;
            _sampleBytes += length + 1;
        }

        _discovering = false;
        EndSample();
    }

    /// <summary>A key of the sample no column reads becomes a field of its own, named flat (<c>dealer__code</c>).</summary>
    private int AddExtra(JsonFieldNode node)
    {
        node.FirstLine = _recordLine;
        _extras.Add(node);
        _header.Add(node.FlatName!);
        if (_slots.Length < _header.Count)
        {
            Array.Resize(ref _slots, _header.Count * 2);
        }

        return _header.Count - 1;
    }

    /// <summary>A key first seen after the sample: never loaded (the table's columns are fixed by then), and said once.</summary>
    private void NewKeyAfterSample(JsonFieldNode node)
    {
        var after = $"after the {_sampled:N0} records sampled";
        switch (_spec.SchemaDrift)
        {
            case SchemaDrift.Strict:
                throw new JsonFormatException(_source, _recordLine, $"key '{node.DisplayPath}' is not read by any column (schema_drift: strict); it first appears here, {after}");
            case SchemaDrift.Evolve:
                _entryWarnings.Add($"key '{node.DisplayPath}' first appears on line {_recordLine}, {after}: not loaded (schema_drift: evolve adds the keys of each file's first {_options.SampleRows:N0} records; raise json.sample_rows)");
                break;
            default:
                _entryWarnings.Add($"key '{node.DisplayPath}' first appears on line {_recordLine}, {after}: not loaded (schema_drift: ignore_new)");
                break;
        }
    }

    private void AddRecord(ReadOnlySpan<byte> record, long line)
    {
        var row = _rows;
        _recordLine = line;
        try
        {
            Walk(record);
            for (var c = 0; c < _columns.Length; c++)
            {
                ref readonly var slot = ref _slots[c];
                if (slot.Generation == _generation && slot.Length >= 0)
                {
                    _columns[c].Append(row, slot.InScratch ? _scratch.AsSpan(slot.Start, slot.Length) : record.Slice(slot.Start, slot.Length));
                }
                else
                {
                    _columns[c].AppendNull(row);
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or RecordShapeException)
        {
            var reason = e switch
            {
                JsonException j => $"invalid JSON at byte {(j.BytePositionInLine ?? 0) + 1}: {JsonErrors.Reason(j, JsonContainer.At(record, isFinalBlock: true), _mode)}",
                RecordShapeException s => s.Message,
                _ => $"invalid JSON: {e.Message}",
            };
            if (_spec.OnError == OnError.FailFile)
            {
                throw new JsonFormatException(_source, line, reason);
            }

            Broken(row, reason, record);
        }

        _lines[row] = line;
        _batchBytes += record.Length; // the values are at most the record
        _rows++;
    }

    /// <summary>A record that cannot be read: a row of NULLs the transform rejects with <paramref name="reason"/>.</summary>
    private void Broken(int row, string reason, ReadOnlySpan<byte> raw)
    {
        foreach (var c in _columns)
        {
            c.AppendNull(row);
        }

        (_broken ??= []).Add(new BrokenRecord(row, reason, System.Text.Encoding.UTF8.GetString(raw)));
    }

    private TextBatch TakeBatch()
    {
        var memory = new BatchMemory();
        var data = new TextColumnData[_columns.Length];
        for (var c = 0; c < data.Length; c++)
        {
            data[c] = _columns[c].Detach(_rows, memory, _rowCap);
        }

        var lines = _lines;
        memory.Adopt(lines);
        _lines = BufferPool.Longs.Rent(_rowCap);
        var bytes = BytesConsumed - _batchStart;
        _batchStart = BytesConsumed;
        var batch = new TextBatch(_source, _header, data, lines, _rows, bytes, memory, _broken);
        _rows = 0;
        _batchBytes = 0;
        _broken = null;
        return batch;
    }
}
