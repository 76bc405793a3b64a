func.func @f0(%a0: tensor<?x4x7x32xf16>, %a1: tensor<?x?x?x?xf16>, %a2: tensor<?x?x51x16xf16>, %a3: tensor<?x?x?x?xf16>, %a4: tensor<?x?x29x16xf16>) -> (tensor<?x4x7x16xf16>) {
  %v1 = tensor.cast %a0 : tensor<?x4x7x32xf16> to tensor<?x4x7x?xf16>
  %v2 = clus.attention %v1, [%a1, %a2], [%a3, %a4] : tensor<?x4x7x?xf16>, [tensor<?x?x?x?xf16>, tensor<?x?x51x16xf16>], [tensor<?x?x?x?xf16>, tensor<?x?x29x16xf16>]
  return %v2 : tensor<?x4x7x16xf16>
}
