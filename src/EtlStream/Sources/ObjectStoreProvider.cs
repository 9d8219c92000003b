namespace EtlStream.Sources;

/// <summary>
/// A store of objects in a container or bucket that a <c>load</c> input names by URL (<c>az://</c>, <c>s3://</c>):
/// what such a store declares, declared once, so that its provider holds only how it validates, builds and shows it.
/// </summary>
/// <param name="urlRoot">What the URL names after <c>scheme://</c>; also the setting a tenant names it by.</param>
internal abstract class ObjectStoreProvider(string kind, string scheme, string urlRoot, IReadOnlyList<string> settings, IReadOnlyList<string> secretSettings)
    : SourceStoreProvider
{
    public override string Kind => kind;

    public override string Scheme => scheme;

    public override string UrlRoot => urlRoot;

    public override IReadOnlyList<string> Settings => settings;

    public override IReadOnlyList<string> SecretSettings => secretSettings;
}
