namespace EtlStream.Tables;

/// <summary>Configuration that cannot be used, with every problem found (each names its file and path).</summary>
public sealed class ConfigException(IReadOnlyList<string> errors)
    : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
